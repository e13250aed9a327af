"""PyTorch definitions of the networks in specs/ that come from a paper rather than from torchvision, written
from the papers independently of netc (not netc's emitted module), as the parity test's and the reference
tables' models. Each registers its modules in the order its forward runs them, so that its state_dict lists
its tensors in the order netc names them (README.md, "Weights").
"""
import torch
from torch import nn


def center_crop(x, height, width):
    """The centre height x width window of each channel; an odd difference leaves the extra row or column
    at the bottom or right."""
    top, left = (x.shape[-2] - height) // 2, (x.shape[-1] - width) // 2
    return x[:, :, top:top + height, left:left + width]


class DoubleConv(nn.Module):
    """Two unpadded 3x3 convolutions, each followed by a ReLU: a U-Net level loses 4 pixels per axis."""

    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3)
        self.relu2 = nn.ReLU(inplace=True)

    def forward(self, x):
        return self.relu2(self.conv2(self.relu1(self.conv1(x))))


class UNet(nn.Module):
    """U-Net (Ronneberger, Fischer and Brox, 2015, Figure 1): a contracting path of DoubleConvs and 2x2 max
    pools (64 to 1024 channels), an expanding path whose every step is a 2x2 up-convolution (a transposed
    convolution of stride 2 that halves the channels), the concatenation of the correspondingly cropped
    feature map of the contracting path with it, and a DoubleConv; then a 1x1 convolution to the classes.
    A 572x572 tile gives a 388x388 segmentation map."""

    def __init__(self, in_channels=1, classes=2):
        super().__init__()
        self.down1 = DoubleConv(in_channels, 64)
        self.pool1 = nn.MaxPool2d(2)
        self.down2 = DoubleConv(64, 128)
        self.pool2 = nn.MaxPool2d(2)
        self.down3 = DoubleConv(128, 256)
        self.pool3 = nn.MaxPool2d(2)
        self.down4 = DoubleConv(256, 512)
        self.pool4 = nn.MaxPool2d(2)
        self.bottom = DoubleConv(512, 1024)
        self.upconv4 = nn.ConvTranspose2d(1024, 512, 2, stride=2)
        self.up4 = DoubleConv(1024, 512)
        self.upconv3 = nn.ConvTranspose2d(512, 256, 2, stride=2)
        self.up3 = DoubleConv(512, 256)
        self.upconv2 = nn.ConvTranspose2d(256, 128, 2, stride=2)
        self.up2 = DoubleConv(256, 128)
        self.upconv1 = nn.ConvTranspose2d(128, 64, 2, stride=2)
        self.up1 = DoubleConv(128, 64)
        self.classifier = nn.Conv2d(64, classes, 1)

    @staticmethod
    def copy_and_crop(skip, x):
        """The contracting path's map, cropped to x's size, then x, along the channels."""
        return torch.cat([center_crop(skip, x.shape[-2], x.shape[-1]), x], dim=1)

    def forward(self, x):
        c1 = self.down1(x)
        c2 = self.down2(self.pool1(c1))
        c3 = self.down3(self.pool2(c2))
        c4 = self.down4(self.pool3(c3))
        x = self.bottom(self.pool4(c4))
        x = self.up4(self.copy_and_crop(c4, self.upconv4(x)))
        x = self.up3(self.copy_and_crop(c3, self.upconv3(x)))
        x = self.up2(self.copy_and_crop(c2, self.upconv2(x)))
        x = self.up1(self.copy_and_crop(c1, self.upconv1(x)))
        return self.classifier(x)


class DCGANGenerator(nn.Module):
    """The DCGAN generator (Radford, Metz and Chintala, 2016, Figure 1) as PyTorch's examples/dcgan builds
    it (its class Generator): from a 100x1x1 code, transposed 4x4 convolutions without bias (the first
    with stride 1 and no padding, to 4x4; the others with stride 2 and padding 1, doubling the size), each
    followed by batch norm and ReLU but the last, which gives the 3 colour channels through tanh: a 64x64
    image. ngf = 64 feature maps in the last hidden layer, 8 * ngf in the first."""

    def __init__(self, nz=100, ngf=64, nc=3):
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False),
            nn.BatchNorm2d(ngf * 8),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 4),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),
            nn.Tanh(),
        )

    def forward(self, z):
        return self.main(z)
